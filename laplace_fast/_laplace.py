def find_map(*a, **k): raise NotImplementedError
def laplace(*a, **k): raise NotImplementedError
def laplace_batch(*a, **k): raise NotImplementedError
