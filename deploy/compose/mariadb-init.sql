-- The MariaDB target: shop.orders lands in warehouse.orders. apply creates
-- its own sluice_offsets table.
CREATE TABLE IF NOT EXISTS warehouse.orders (
  id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  customer VARCHAR(64) NOT NULL,
  total DECIMAL(12,2) NOT NULL,
  status VARCHAR(16) NOT NULL,
  created_at DATETIME(6) NOT NULL
);
