"""sdmock: a mock system design interviewer."""
