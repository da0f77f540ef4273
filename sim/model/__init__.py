"""Model layer: array layout, keyed random numbers, rules by actor and the compiled world."""
