"""From committed results to pandas tables (and, later, the published report)."""
