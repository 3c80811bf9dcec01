"""The shared kit every resource is built on: field types and read models, keyset pagination,
read forms, export writers, write-rule helpers, generic CRUD and the item routes."""
