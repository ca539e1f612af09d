from __future__ import annotations

import pytest

from service.sandbox.__main__ import main


def test_a_malformed_webhook_header_stops_with_exit_code_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--webhook-header", "X-Webhook-Token"])
    assert stopped.value.code == 2
    assert "expected NAME=VALUE" in capsys.readouterr().err
