"""exposure-batch: white-box automatic photo editing (Exposure, Hu et al. 2018) as a batch pipeline."""
from setuptools import find_packages, setup

#: Training extra: TensorFlow (CPU build on x86-64), TensorBoard logs, evaluation plots.
TRAIN = ["tensorflow-cpu>=2.16; platform_machine=='x86_64'", "tensorflow>=2.16; platform_machine!='x86_64'",
         "tensorboard>=2.16", "matplotlib>=3.7"]

#: Learning extra: `exposure-batch learn` (studio profiles) fits with SciPy (least squares, rank correlation);
#: applying a learned profile (`process --profile`) does not need it.
LEARN = ["scipy>=1.10"]

setup(
    name="exposure-batch",
    version="0.4.0",
    description="Batch photo editing with the white-box Exposure agent: recipes, full-res renders, editor sidecars",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["exposure_batch", "exposure_batch.*"]),
    # Package data read with importlib.resources: colour constants, and the top-level models/ and xmp_templates/
    # folders (fixed by the product card), reached through the symlinks exposure_batch/models and
    # exposure_batch/xmp_templates; setuptools copies the files themselves into wheels and non-editable installs.
    package_data={"exposure_batch": ["data/*.json", "models/*/*", "xmp_templates/*"]},
    install_requires=[
        "numpy>=1.24",
        "rawpy>=0.21",
        "exifread>=3.0",
        "tifffile>=2023.1",
        "imagecodecs>=2023.1",
        "click>=8.1",
        "watchdog>=3.0",
        "lxml>=4.9",
        "Pillow>=11.3",  # 11.3: AVIF (libavif) in the wheels; WebP and GIF
        "pillow-heif>=0.18",  # HEIC/HEIF (phones shoot HEIC): libheif + libde265
        "colour-science>=0.4.4",
        "rich>=13.0",
        "numba>=0.59",
        # `exposure-batch serve` (the editor plug-ins' local service)
        "fastapi>=0.110",
        "uvicorn>=0.29",
        "python-multipart>=0.0.9",
        "threadpoolctl>=3.1",  # agent calls of the service and the shoot plan: one BLAS thread (spinning costs 10x)
    ],
    # TensorFlow is for training only (`exposure-batch train`, `--agent-backend tf`): process, watch, explain, export
    # and the learned agent's NumPy inference run without it.
    extras_require={
        "train": TRAIN,
        "learn": LEARN,
        "test": ["pytest>=7", "pytest-xdist>=3", "pytest-timeout>=2", "selenium>=4.10", "ray[data]>=2.52",
                 "psutil>=5.9", "hypothesis>=6.80", "httpx>=0.27",
                 "setuptools>=64", "wheel",  # tests/test_wheel.py builds without isolation
                 "mkdocs>=1.6", "mkdocs-material>=9.5",  # tests/test_docs.py: `mkdocs build --strict` of docs/
                 *LEARN, *TRAIN],  # the suite also tests the TF ops and training
        "gpu": ["tensorflow[and-cuda]>=2.16", "tensorboard>=2.16", "matplotlib>=3.7"],
        "ray": ["ray[data]>=2.52"],
    },
    entry_points={"console_scripts": ["exposure-batch=exposure_batch.cli:main"]},
)
