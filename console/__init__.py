"""The support agent console: agents, queue, assignment, dashboard (issue 7)."""
