import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))               # python/tests (support)
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))  # python/ (cinesis, pynesis)
os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'django_tests.settings')
