variable "orders_table" {
  type        = string
  description = "the name of rewrite rule 2 (match `it-*-orders`)"
}
