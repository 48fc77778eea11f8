mod observability;
