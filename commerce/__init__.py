"""Commerce engines: recommendations, restock timing, stock forecasts. Domain maths without I/O."""
