# placeholder, replaced by the GLM kernels
