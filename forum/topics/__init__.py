"""Similar-question index and repeated-topic detection (pure algorithm, no database)."""
