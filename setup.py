"""exposure-batch: white-box automatic photo editing (Exposure, Hu et al. 2018) as a batch pipeline."""
from glob import glob

from setuptools import find_packages, setup

setup(
    name="exposure-batch",
    version="0.1.0",
    description="Batch photo editing with the white-box Exposure agent: recipes, full-res renders, editor sidecars",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["exposure_batch", "exposure_batch.*"]),
    include_package_data=True,
    package_data={"exposure_batch": ["data/*"]},
    # Top-level folders fixed by the product card, installed for non-editable installs too.
    data_files=[("share/exposure-batch/xmp_templates", glob("xmp_templates/*"))],
    install_requires=[
        "numpy>=1.24",
        "tensorflow-cpu>=2.16; platform_machine=='x86_64'",
        "tensorflow>=2.16; platform_machine!='x86_64'",
        "rawpy>=0.21",
        "exifread>=3.0",
        "tifffile>=2023.1",
        "imagecodecs>=2023.1",
        "click>=8.1",
        "watchdog>=3.0",
        "lxml>=4.9",
        "Pillow>=10.0",
        "colour-science>=0.4.4",
        "scipy>=1.10",  # studio profiles: least squares and rank correlation (exposure_batch.look)
        "rich>=13.0",
        "numba>=0.59",
        # `exposure-batch serve` (the editor plug-ins' local service)
        "fastapi>=0.110",
        "uvicorn>=0.29",
        "python-multipart>=0.0.9",
        "threadpoolctl>=3.1",  # the service's agent calls: one BLAS thread (spinning threads cost 10x under load)
    ],
    extras_require={
        "test": ["pytest>=7", "pytest-xdist>=3", "pytest-timeout>=2", "selenium>=4.10",
                 "ray[data]>=2.40", "psutil>=5.9", "hypothesis>=6.80", "httpx>=0.27"],
        "gpu": ["tensorflow[and-cuda]>=2.16"],
        "ray": ["ray[data]>=2.40"],
        "train": ["tensorboard>=2.16", "matplotlib>=3.7"],  # learned agent: TensorBoard logs, evaluation plots
    },
    entry_points={"console_scripts": ["exposure-batch=exposure_batch.cli:main"]},
)
