-- The PostgreSQL target: shop.orders lands in public.orders. apply creates
-- its own sluice_offsets table.
CREATE TABLE IF NOT EXISTS public.orders (
  id NUMERIC(20) PRIMARY KEY,
  customer VARCHAR(64) NOT NULL,
  total NUMERIC(12,2) NOT NULL,
  status VARCHAR(16) NOT NULL,
  created_at TIMESTAMP(6) NOT NULL
);
