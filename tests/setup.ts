// Test preload: prepares the database once per run (filled in with the database layer).
export {}
