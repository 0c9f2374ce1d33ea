def set_up_demo_neutrality(stdout=None):  # placeholder
    return None
