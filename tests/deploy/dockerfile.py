"""What deploy/Dockerfile must be, beyond hadolint's lint: checks that list what breaks them.

hadolint knows Dockerfile good practice in general; these are this project's needs: a builder
stage installing from the lock file, a final stage running as the fixed non-root user the
manifests expect, exec-form commands so SIGTERM reaches uvicorn and arq, one image for both
roles, and no secrets baked in.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from tests.deploy.pods import APP_UID

SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|REDIS_URL", re.IGNORECASE)


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def parse(text: str) -> list[Instruction]:
    """Instructions in order, continuation lines joined, comments and blank lines dropped."""
    logical, current = [], ""
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            logical.append(current.strip())
            current = ""
    return [Instruction(*[*line.split(None, 1), ""][:2]) for line in logical]


def problems(text: str) -> list[str]:
    instructions = parse(text)
    stages = [i for i, ins in enumerate(instructions) if ins.keyword.upper() == "FROM"]
    if len(stages) < 2:
        return ["not a multi-stage build"]
    final = instructions[stages[-1] :]
    found = _base_images(instructions) + _secrets(instructions) + _final_stage(final)
    if not any("uv sync --frozen" in i.arguments for i in instructions[: stages[-1]]):
        found.append("no builder step installs from the lock file (uv sync --frozen)")
    return found


def _base_images(instructions: list[Instruction]) -> list[str]:
    args = dict(
        _assignment(i.arguments)
        for i in instructions
        if i.keyword.upper() == "ARG" and "=" in i.arguments
    )
    stages: set[str] = set()
    found = []
    for ins in instructions:
        if ins.keyword.upper() != "FROM":
            continue
        words = ins.arguments.split()
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), words[0])
        if image not in stages and ("@sha256:" not in image and _tag(image) in (None, "latest")):
            found.append(f"base image {image} is not pinned to a tag")
        if len(words) == 3 and words[1].upper() == "AS":
            stages.add(words[2])
    return found


def _tag(image: str) -> str | None:
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def _assignment(text: str) -> tuple[str, str]:
    name, _, value = text.partition("=")
    return name.strip(), value.strip().strip('"')


def _secrets(instructions: list[Instruction]) -> list[str]:
    found = []
    for ins in instructions:
        if ins.keyword.upper() in ("ENV", "ARG"):
            for name in re.findall(r"(\w+)=", ins.arguments) or [ins.arguments.split()[0]]:
                if SECRET_NAME.search(name):
                    found.append(f"{ins.keyword} {name} bakes a secret into the image")
    return found


def _final_stage(final: list[Instruction]) -> list[str]:
    found = []
    users = [i.arguments.split(":") for i in final if i.keyword.upper() == "USER"]
    if not users or users[-1][0] != str(APP_UID):
        found.append(f"the final stage does not run as the numeric user {APP_UID}")
    commands = {
        i.keyword.upper(): i.arguments for i in final if i.keyword.upper() in ("ENTRYPOINT", "CMD")
    }
    for keyword, arguments in commands.items():
        if not arguments.startswith("["):
            found.append(f"{keyword} is in shell form: SIGTERM would not reach the app")
    if [_exec_form(commands.get("ENTRYPOINT")), _exec_form(commands.get("CMD"))] != [
        ["awork-billing"],
        ["serve"],
    ]:
        found.append('the image does not run `awork-billing` with default command ["serve"]')
    env = " ".join(i.arguments for i in final if i.keyword.upper() == "ENV")
    if not re.search(r"\bPYTHONDONTWRITEBYTECODE=1\b", env):
        found.append("PYTHONDONTWRITEBYTECODE=1 is not set (the root filesystem is read-only)")
    return found


def _exec_form(arguments: str | None) -> list[str] | None:
    if arguments is None or not arguments.startswith("["):
        return None
    value: list[str] = json.loads(arguments)
    return value
