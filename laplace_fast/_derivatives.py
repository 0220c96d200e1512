def gradient(*a, **k): raise NotImplementedError
def hessian(*a, **k): raise NotImplementedError
