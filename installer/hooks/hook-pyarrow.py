"""pyarrow, trimmed: replaces the contrib hook, which collects every submodule and every shared
library (Flight, Substrait, S3: about 70 MB) although we only read and write Parquet.

The libraries that stay (libarrow, libparquet, compute, dataset, acero, libarrow_python) are found
by PyInstaller's dependency analysis of the extension modules imported below.
"""

from PyInstaller.utils.hooks import collect_data_files

hiddenimports = [
    "pyarrow.lib",
    "pyarrow._compute",
    "pyarrow.compute",
    "pyarrow._parquet",
    "pyarrow.parquet",
    "pyarrow._dataset",
    "pyarrow._dataset_parquet",
    "pyarrow.dataset",
    "pyarrow._acero",
    "pyarrow._fs",
    "pyarrow.fs",
    "pyarrow._csv",
    "pyarrow._json",
    "pyarrow._feather",
    "pyarrow.pandas_compat",
    "pyarrow.vendored.version",
    "pyarrow._generated_version",
    "pyarrow._parquet_encryption",
    "pyarrow._dataset_parquet_encryption",
]
datas = collect_data_files(
    "pyarrow", excludes=["tests", "include", "src", "**/*.pxd", "**/*.pyx", "**/*.h"]
)
