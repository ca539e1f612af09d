"""Rates and rounding, kept by the service (issue 12): pure — a rates file and an entry in, the
billed minutes and the amount out, never written to awork.

    parser      `load_rates(path)` / `parse_rates(text)`: YAML -> `RateTable`, or one `RatesError`
    model       `RateTable`, `Rate`, `Rounding`, `Surcharge`, `RatesError`
    pricing     `price(entry, seconds, table)`: billed minutes, rate, surcharge, amount (Decimal)
    localstart  an entry's local start: the close's period, `weekday`, `localStartHour`

It imports the rules' condition language (`workers.rules`) and nothing else of the project.
"""

from workers.rates.localstart import LOCAL_FIELDS, WEEKDAYS, LocalStart, local_start
from workers.rates.model import RatesError, RateTable
from workers.rates.parser import is_rates_file, load_rates, parse_rates
from workers.rates.pricing import Priced, amount, billed_minutes, price

__all__ = [
    "LOCAL_FIELDS",
    "WEEKDAYS",
    "LocalStart",
    "Priced",
    "RateTable",
    "RatesError",
    "amount",
    "billed_minutes",
    "is_rates_file",
    "load_rates",
    "local_start",
    "parse_rates",
    "price",
]
