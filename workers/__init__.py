"""The workers: arq jobs that apply the billing rules through awork's bulk endpoints.

Layers, top to bottom (imports point down only; `make check` enforces it):

    main      `arq workers.main.WorkerSettings`
    cli       the console script `awork-billing` (nothing imports it)
    jobs      the arq jobs and a worker's life
    apply     entries -> decisions -> bulk writes, and their records
    process   what one process holds (`ProcessContext`)
    awork     the awork adapter          rules   the pure rules engine
    telemetry metrics and log format
"""
