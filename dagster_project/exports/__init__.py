"""Files that leave the warehouse: indicator tables, provincial submission, feedback, reports."""
