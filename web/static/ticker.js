// ticker
