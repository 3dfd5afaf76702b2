"""Vocabularies the synthetic entities are drawn from.

Accented names and cities are deliberate: they make the file encoding matter. Every string here must
be representable in Latin-1 (the CSV files may be Latin-1) and must keep its length under
upper()/lower(), which is why there is no German sharp s or y with diaeresis.
"""

from __future__ import annotations

import unicodedata


def _items(text: str) -> tuple[str, ...]:
    """Comma-separated words (kept as text blocks so the lists stay readable after formatting)."""
    return tuple(item.strip() for item in text.replace("\n", ",").split(",") if item.strip())


# Full names must tell unrelated people apart (the silver matcher links records on them), so the
# lists are wide and a name already in use is redrawn or given a double surname (``people.py``).
# No two entries of a list may fold to the same ASCII spelling (``Martín`` and ``Martin``).
FIRST_NAMES = _items("""
    José, Zoë, Renée, Björn, Søren, Chloé, Inês, João, Françoise, Jürgen, Anaïs, Noël, Raúl, Mónica,
    Ángel, Agnès, Léa, Håkon, Åsa, Maël, John, Mary, James, Emma, Olivia, Liam, Noah, Sophia, Lucas,
    Mia, Hannah, Lukas, Leon, Marie, Paul, Anna, Elena, Marco, Giulia, Pedro, Ana, Carlos, Lucía,
    Sofía, Pierre, Camille, Thomas, Sarah, David, Laura, Michael, Emily, Daniel, Grace, Oliver,
    Charlotte, Henrik, Ingrid, Sean, Aoife, Adèle, Amélie, Andrés, Beatriz, Benoît, Cécile, Clément,
    Élodie, Émile, Fátima, Frédéric, Gaël, Hélène, Iñaki, Jérôme, Joël, Kåre, Loïc, Nicolás, Óscar,
    Pål, Rúben, Stéphane, Thérèse, Tomás, Valérie, Øystein, Ciarán, Siobhán, Róisín, Dónal, Björk,
    Alice, Alexander, Amelia, Andrew, Benjamin, Chiara, Clara, Diego, Elias, Ella, Felix, Finn,
    Francesca, Freya, Gabriel, George, Hugo, Isabel, Isla, Jack, Jacob, Jonas, Julia, Katharina, Leo,
    Lily, Louis, Luca, Maja, Matteo, Max, Nina, Nora, Rafael, Rosa, Ruby, Samuel, Sara, Simon,
    Theo, Victor, William, Yasmin, Zara, Ahmed, Amir, Leila, Omar, Nadia, Aisha, Priya, Ravi, Kenji,
    Mei, Ivan, Olga, Tomasz, Katarzyna, Piotr, Agnieszka, Erik, Astrid, Sigrid, Magnus, Niamh, Eoin
""")
LAST_NAMES = _items("""
    Müller, García, Gonçalves, Ødegaard, Núñez, Lefèvre, Jönsson, Dubois, Schäfer, Fernández, Pérez,
    Gómez, Bäcker, Hoffmann, Rodríguez, Martín, Sánchez, Åberg, Løvland, Brontë, Côté, Gagné,
    Duchêne, Mäkinen, Würth, Ibáñez, Conceição, Smith, Jones, Taylor, Brown, Williams, Wilson,
    Johnson, Davies, Robinson, Wright, Thompson, Evans, Walker, White, Roberts, Green, Hall, Wood,
    Jackson, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Rossi, Russo, Ferrari,
    Esposito, Bianchi, Silva, Santos, Oliveira, Bernard, O'Brien, Murphy, Kelly, Jensen,
    Nielsen, Hansen, Larsen, Andersson, Johansson, Álvarez, Gutiérrez, Jiménez, Márquez, Ramírez,
    Domínguez, Vázquez, Suárez, Muñoz, Peña, Castaño, Brandão, Guimarães, Magalhães, Simões, Falcão,
    Araújo, Assunção, Bélanger, Bérubé, Lévesque, Thériault, Hébert, Pâquet, Doré, Böhm, Köhler,
    Krüger, Jäger, Schröder, Günther, Håkansson, Ström, Lindström, Öberg, Sjöberg, Nyström,
    Søndergaard, Kjær, Mølgaard, Häkkinen, Mäkelä, Horváth, Szabó, Tóth, Kovács, Novák, Belloni,
    Mercier, Rousseau, Girard, Bonnet, Gauthier, Fontaine, Lambert, Moreau, Laurent, Simon, Conti,
    Ricci, Marino, Greco, Bruno, Gallo, Costa, Fontana, Mancini, Lombardi, Moretti, Barbieri, Romano,
    Colombo, de Vries, van Dijk, Bakker, Visser, Smit, Meijer, de Boer, Mulder, Peeters, Clarke,
    Hughes, Edwards, Lewis, Harris, Cooper, King, Baker, Turner, Hill, Ward, Morris, Moore, Clark,
    Young, Allen, Scott, Mitchell, Campbell, Stewart, Anderson, MacDonald, Reid, Murray, Byrne, Ryan,
    O'Connor, O'Neill, Doyle, Walsh, McCarthy, Miller, Davis, Kowalski, Nowak, Lewandowski, Nagy,
    Papadopoulos, Demir, Kaya, Nakamura, Tanaka, Sato, Kim, Park, Nguyen, Tran, Singh, Patel, Khan,
    Hassan, Haddad, Cohen, Levi, Petrov, Popescu, Ionescu, Lindqvist, Virtanen, Koskinen, Eriksen
""")

# country (ISO alpha-2) -> cities
CITIES: dict[str, tuple[str, ...]] = {
    "GB": _items("London, Manchester, Birmingham, Leeds, Glasgow, Edinburgh"),
    "DE": _items("Berlin, München, Köln, Düsseldorf, Hamburg, Nürnberg, Lübeck"),
    "FR": _items("Paris, Lyon, Besançon, Orléans, Nîmes, Angoulême"),
    "ES": _items("Madrid, Barcelona, Málaga, Córdoba, León, Cádiz"),
    "PT": _items("Lisboa, Porto, Évora, Setúbal"),
    "BR": _items("São Paulo, Rio de Janeiro, Brasília, Belém, Maceió"),
    "SE": _items("Stockholm, Göteborg, Malmö, Västerås, Umeå"),
    "CH": _items("Zürich, Genève, Bern, Neuchâtel"),
    "CA": _items("Montréal, Québec, Toronto, Trois-Rivières"),
    "US": _items("New York, San José, Chicago, Seattle, Austin"),
    "NL": _items("Amsterdam, Rotterdam, Utrecht, Den Haag"),
    "IT": _items("Roma, Milano, Forlì, Cantù, Napoli"),
}
COUNTRIES: tuple[str, ...] = tuple(CITIES)
COUNTRY_WEIGHTS: tuple[float, ...] = (0.22, 0.16, 0.12, 0.1, 0.05, 0.06, 0.05, 0.04, 0.05, 0.07, 0.04, 0.04)

EMAIL_DOMAINS = _items(
    "mail.com, example.org, post.de, correo.es, webmail.net, inbox.fr, posteo.pt, fastmail.se"
)

CATEGORIES = _items("""
    Electronics, Home & Kitchen, Fashion, Beauty, Sports & Outdoors, Toys, Books, Grocery, Garden,
    Health, Pet Supplies, Stationery
""")
# typical retail price in cents, per category (same order as CATEGORIES)
CATEGORY_PRICE_CENTS: tuple[int, ...] = (
    12000,
    4500,
    3500,
    1800,
    5000,
    2500,
    1500,
    600,
    3000,
    1400,
    2200,
    900,
)
CATEGORY_NOUNS: dict[str, tuple[str, ...]] = {
    "Electronics": _items("Headphones, Speaker, Charger, Smartwatch, Keyboard, Webcam"),
    "Home & Kitchen": _items("Kettle, Cafetière, Pan, Knife Set, Blender, Crème Brûlée Set"),
    "Fashion": _items("Scarf, Jacket, Sneakers, Beanie, Handbag, Belt"),
    "Beauty": _items("Moisturiser, Eau de Toilette, Lip Balm, Serum, Shampoo"),
    "Sports & Outdoors": _items("Yoga Mat, Tent, Water Bottle, Running Vest, Dumbbells"),
    "Toys": _items("Puzzle, Building Set, Plush Bear, Kite, Board Game"),
    "Books": _items("Cookbook, Novel, Atlas, Collector's Edition, Guide"),
    "Grocery": _items("Coffee Beans, Olive Oil, Chocolate, Tea, Pâté"),
    "Garden": _items("Hose, Planter, Secateurs, Seed Kit, Lantern"),
    "Health": _items("Vitamins, Thermometer, First Aid Kit, Massager"),
    "Pet Supplies": _items("Dog Lead, Cat Tree, Pet Bed, Treats"),
    "Stationery": _items("Fountain Pen, Planner, Sketchbook, Desk Organiser"),
}
ADJECTIVES = _items("Classic, Deluxe, Compact, Pro, Eco, Premium, Mini, Original, Rustic, Élégant")
BRANDS = _items("""
    Nordlys, Café Royal, Bräunhaus, Élan, Señora Verde, Açaí & Co, Fjällgear, Ørsted Home, Maison Léon,
    Acme, Brightline, Northwind, Vértice, Kühne, Solène, Greenleaf
""")
SUPPLIERS = _items("""
    Müller GmbH, Distribuidora Ibérica S.A., Société Lyonnaise, Nordic Wholesale AB, Atlantic Trading Ltd,
    São Paulo Importadora, Zürcher Handels AG, Great Lakes Supply Inc
""")

CAMPAIGN_NAMES = _items("""
    New Year Sale, Winter Clearance, Fête des Mères, Día del Padre, Back to School, Spring Refresh,
    Summer Sale, Black Friday Preview, Loyalty Weekend, Garden Days, Rentrée Deals, Cyber Week,
    Mid-Season Offers, Valentine's Picks, Outdoor Festival
""")
CAMPAIGN_CHANNELS = _items("email, social, search, display, affiliate")

TIERS = _items("bronze, silver, gold, platinum")
TIER_WEIGHTS: tuple[float, ...] = (0.5, 0.3, 0.15, 0.05)

SALES_CHANNELS = _items("web, mobile, store, marketplace")
SALES_CHANNEL_WEIGHTS: tuple[float, ...] = (0.30, 0.15, 0.45, 0.10)
# Channels whose customer_id is a CRM id; the others use web-shop account ids.
CRM_CHANNELS = _items("store, marketplace")
PAYMENT_METHODS = _items("card, paypal, cash, gift_card, bank_transfer")
# payment mix per sales channel (rows: SALES_CHANNELS, columns: PAYMENT_METHODS); cash only in store
PAYMENT_WEIGHTS: tuple[tuple[float, ...], ...] = (
    (0.60, 0.25, 0.00, 0.05, 0.10),
    (0.55, 0.35, 0.00, 0.05, 0.05),
    (0.60, 0.00, 0.30, 0.10, 0.00),
    (0.70, 0.20, 0.00, 0.00, 0.10),
)
ORDER_STATUSES = _items("pending, completed, cancelled, refunded")
ORDER_STATUS_WEIGHTS: tuple[float, ...] = (0.07, 0.85, 0.05, 0.03)
CANCELLED = "cancelled"
DISCOUNTS: tuple[int, ...] = (5, 10, 15, 20, 25, 50)
DISCOUNT_SHARE = 0.2

STORE_IDS: tuple[str, ...] = tuple(f"ST{i:03d}" for i in range(1, 21))
WAREHOUSE = "WH01"

UPDATE_TYPES = _items("sale, restock, return, adjustment, damage")
# sign of quantity_change per update type: sales and damages remove stock, restocks and returns add
# it, adjustments go either way (0)
UPDATE_SIGNS: dict[str, int] = {"sale": -1, "restock": 1, "return": 1, "adjustment": 0, "damage": -1}
# share of each non-sale movement type among the extra movements (restock, return, adjustment, damage)
EXTRA_UPDATE_WEIGHTS: tuple[float, ...] = (0.40, 0.25, 0.20, 0.15)

# Characters without a Unicode decomposition that an ASCII e-mail address still needs spelled out.
_ASCII_FOLD = str.maketrans({"ø": "o", "Ø": "O", "å": "a", "Å": "A", "æ": "ae", "Æ": "AE", "'": ""})


def ascii_fold(text: str) -> str:
    """``'Søren Ødegaard'`` -> ``'Soren Odegaard'``: e-mail local parts are built from names."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_ASCII_FOLD))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def all_text() -> list[str]:
    """Every vocabulary string (the tests check that they all encode as Latin-1)."""
    texts: list[str] = [*FIRST_NAMES, *LAST_NAMES, *EMAIL_DOMAINS, *CATEGORIES, *ADJECTIVES, *BRANDS]
    texts += [*SUPPLIERS, *CAMPAIGN_NAMES, *CAMPAIGN_CHANNELS, *TIERS, *COUNTRIES, *STORE_IDS]
    for cities in CITIES.values():
        texts += cities
    for nouns in CATEGORY_NOUNS.values():
        texts += nouns
    return texts
