//! The payload's product-type byte. Ids and names are the public reverse-engineered table
//! (RUB-SysSec DroneSecurity, NDSS 2023); DJI publishes none, and an id missing here is
//! simply unknown, never an error.

/// Known product-type ids and their names.
const PRODUCTS: &[(u8, &str)] = &[
    (1, "Inspire 1"),
    (2, "Phantom 3 Series"),
    (3, "Phantom 3 Series"),
    (4, "Phantom 3 Std"),
    (5, "M100"),
    (6, "ACEONE"),
    (7, "WKM"),
    (8, "NAZA"),
    (9, "A2"),
    (10, "A3"),
    (11, "Phantom 4"),
    (12, "MG1"),
    (14, "M600"),
    (15, "Phantom 3 4k"),
    (16, "Mavic Pro"),
    (17, "Inspire 2"),
    (18, "Phantom 4 Pro"),
    (20, "N2"),
    (21, "Spark"),
    (23, "M600 Pro"),
    (24, "Mavic Air"),
    (25, "M200"),
    (26, "Phantom 4 Series"),
    (27, "Phantom 4 Adv"),
    (28, "M210"),
    (30, "M210RTK"),
    (31, "A3_AG"),
    (32, "MG2"),
    (34, "MG1A"),
    (35, "Phantom 4 RTK"),
    (36, "Phantom 4 Pro V2.0"),
    (38, "MG1P"),
    (40, "MG1P-RTK"),
    (41, "Mavic 2"),
    (44, "M200 V2 Series"),
    (51, "Mavic 2 Enterprise"),
    (53, "Mavic Mini"),
    (58, "Mavic Air 2"),
    (59, "P4M"),
    (60, "M300 RTK"),
    (61, "DJI FPV"),
    (63, "Mini 2"),
    (64, "AGRAS T10"),
    (65, "AGRAS T30"),
    (66, "Air 2S"),
    (67, "M30"),
    (68, "DJI Mavic 3"),
    (69, "Mavic 2 Enterprise Advanced"),
    (70, "Mini SE"),
];

/// The product name for a product-type id, when the public table knows it.
pub fn product_name(product_type: u8) -> Option<&'static str> {
    PRODUCTS
        .binary_search_by_key(&product_type, |&(id, _)| id)
        .ok()
        .and_then(|i| PRODUCTS.get(i))
        .map(|&(_, name)| name)
}

/// Ids that name a flight controller sold on its own (ACEONE, WKM, NAZA, A2, A3, N2, A3_AG): the
/// airframe behind them is unknown, so the mapping does not call it a multirotor.
pub fn is_flight_controller(product_type: u8) -> bool {
    matches!(product_type, 6 | 7 | 8 | 9 | 10 | 20 | 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_without_duplicates_so_binary_search_works() {
        assert!(PRODUCTS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn unknown_ids_have_no_name() {
        assert_eq!(product_name(0), None);
        assert_eq!(product_name(13), None);
        assert_eq!(product_name(255), None);
        assert_eq!(product_name(58), Some("Mavic Air 2"));
    }
}
