#!/bin/sh
# Makes sure the tools tests/deploy needs are here: kubectl, whose built-in kustomize renders the
# overlays. (hadolint, yamllint and kubernetes-validate come with the project's dev dependencies.)
# Run by .ci/run. As root on Debian/Ubuntu it installs Debian's `kubectl` package; otherwise it
# says in one line what to install and fails.
set -eu

if ! command -v kubectl >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "check-tools: installing kubectl (Debian package kubectl)" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubectl
    else
        echo "check-tools: kubectl is missing: install kubectl >= 1.24 (Debian/Ubuntu: apt-get install kubectl; elsewhere https://kubernetes.io/docs/tasks/tools/)" >&2
        exit 1
    fi
fi

# kustomize components and `labels` need the kustomize of kubectl >= 1.24.
if ! kubectl kustomize --help >/dev/null 2>&1; then
    echo "check-tools: this kubectl has no working 'kustomize' subcommand: install kubectl >= 1.24" >&2
    exit 1
fi
