from setuptools import find_packages, setup

setup(
    name="uav-tracking",
    version="0.1.0",
    description="One OSTrack-style codebase for aerial vision-language (AVLTrack) and nighttime (MLKD) tracking",
    packages=find_packages(include=["lib", "lib.*"]),
    python_requires=">=3.10",
)
