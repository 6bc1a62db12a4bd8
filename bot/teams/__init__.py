"""Team reports: who may see which team, and the privacy-safe aggregates they see."""
