// Placeholder: replaced by the shared test database setup.
export default function setup() {}
