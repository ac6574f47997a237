"""Portfolio analytics: KPIs over loan states and snapshots."""
