from __future__ import annotations

import orders_app
from conftest import SECRET


def test_place_and_read_an_order(service: orders_app.OrderService) -> None:
    service.place_order("o-1001", "ada", 250.0)
    assert service.order("o-1001") == {"id": "o-1001", "customer": "ada", "amount": 250.0}
    assert service.invoice("o-1001") == {"order": "o-1001", "amount": 250.0}


def test_small_order_is_not_notified(service: orders_app.OrderService) -> None:
    service.place_order("o-1002", "grace", 20.0)
    assert "invoices/o-1002.json" in service.invoices()


def test_orders_of_a_customer(service: orders_app.OrderService) -> None:
    service.place_order("o-1003", "linus", 30.0)
    assert "o-1003" in service.orders_of("linus")


def test_missing_invoice(service: orders_app.OrderService) -> None:
    assert service.invoice("o-9999") is None


def test_database_password(service: orders_app.OrderService) -> None:
    assert service.database_password() in (SECRET, SECRET + "-rotated")


def test_rotate_database_password(service: orders_app.OrderService) -> None:
    service.rotate_database_password(SECRET + "-rotated")
    assert service.database_password() == SECRET + "-rotated"
