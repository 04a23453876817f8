"""Minimum-norm kernel interpolation (Zhang et al. 2017, Sec. 5) as sklearn estimators."""

from sklearn_gen.kernels._interpolator import KernelInterpolationRegressor, KernelInterpolator
from sklearn_gen.kernels._kernel_functions import KERNELS, Kernel

__all__ = ["KERNELS", "Kernel", "KernelInterpolationRegressor", "KernelInterpolator"]
