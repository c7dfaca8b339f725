print("gearboxd: not yet")
