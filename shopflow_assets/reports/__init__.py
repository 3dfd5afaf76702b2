"""Read-only reports over the warehouse, printed by the `shopflow` command."""
