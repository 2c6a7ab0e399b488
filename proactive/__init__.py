"""Proactive assistant: storefront events, triggers, segments, the quality loop (issue 11)."""
