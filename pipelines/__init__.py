"""The Dagster code location: definitions, jobs, schedule, sensors, resources, IO manager."""
