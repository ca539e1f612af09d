"""The arq jobs, one module each, and what a worker process does around them.

flush          drain one coalescing window: read in bulk, apply the rules, write in bulk
entities       a project, task or company changed: refresh caches, re-evaluate its entries
sweep          the cron safety net: orphaned claims, missing flush jobs, periodic jobs
reconcile      converge even when webhooks were lost (entries changed since a checkpoint; budgets
               whose figures changed)
webhookhealth  is awork's webhook to this service still active?
lifecycle      a worker's start-up and shut-down (process context, heartbeat, rules reload,
               the budget gauge)
registry       `worker_options(settings)`: the jobs as arq runs them
"""

from workers.jobs.registry import worker_options

__all__ = ["worker_options"]
