def glm_laplace(*a, **k): raise NotImplementedError
