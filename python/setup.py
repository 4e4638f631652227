"""Installs the cinesis Python package (pure Python; libcinesis is found at run time: see
docs/python.md). One command, no package index needed:

    pip install --no-build-isolation --no-index python/

(or `python setup.py install` with Python 2.7's setuptools)."""

from setuptools import setup

setup(
    name='cinesis',
    version='0.1.0',
    description='Kinesis Data Streams for Python over libcinesis (with a pynesis drop-in)',
    license='Apache-2.0',
    packages=['cinesis', 'cinesis.contrib', 'cinesis.contrib.django',
              'cinesis.contrib.django.migrations', 'cinesis.contrib.django.management',
              'cinesis.contrib.django.management.commands', 'pynesis', 'pynesis.migrations'],
    python_requires='>=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*, !=3.5.*',
    classifiers=['Programming Language :: Python :: 2.7',
                 'Programming Language :: Python :: 3'],
    zip_safe=False,
)
