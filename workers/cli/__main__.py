"""`python -m workers.cli …`: the same as the console script `awork-billing …`."""

from workers.cli.main import main

raise SystemExit(main())
