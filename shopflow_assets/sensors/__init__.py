"""Sensors: landing-file arrival per source, and alerts on failed runs."""

from shopflow_assets.sensors.alerts import alert_on_run_failure
from shopflow_assets.sensors.files import build_file_sensor, file_jobs, file_sensors

__all__ = ["alert_on_run_failure", "build_file_sensor", "file_jobs", "file_sensors"]
