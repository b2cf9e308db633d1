"""Reports computed from what the gateway persisted: each figure's definition sits next to its code."""
