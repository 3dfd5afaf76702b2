"""The safety net: every day at 02:00 UTC, yesterday's partition of the whole graph."""

import dagster as dg

daily_refresh_job = dg.define_asset_job(
    "daily_refresh",
    selection=dg.AssetSelection.all(),
    description="Every asset for one day: what the 02:00 schedule runs, and a handy manual re-run.",
)

# The last complete daily partition at 02:00 UTC is yesterday's.
daily_refresh_schedule = dg.build_schedule_from_partitioned_job(
    daily_refresh_job,
    name="daily_refresh_0200_utc",
    description=(
        "Safety net: every day at 02:00 UTC, materializes yesterday's partition of every bronze and silver "
        "asset with all checks, catching anything the file sensors missed (late or corrected files)."
    ),
    hour_of_day=2,
    minute_of_hour=0,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
