"""onecloud: consolidate a province's government IT onto one cloud.

Data flow: census -> plan -> pulumi stacks -> migrate -> verify -> report.
"""

__version__ = "0.1.0"
