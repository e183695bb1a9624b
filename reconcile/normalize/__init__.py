"""Pure, cached normalizers for every value kind ghostcheck compares (phones, addresses, names, NPIs, ...)."""

from reconcile.normalize.accepting import CANONICAL, normalize_accepting, takes_new_patients
from reconcile.normalize.address import (
    Address,
    addresses_match,
    normalize_address,
    normalize_state,
    normalize_zip5,
    parse_address,
)
from reconcile.normalize.insurer import InsurerMatcher, normalize_insurer_name
from reconcile.normalize.name import PersonName, first_names_match, fold_name, name_key, parse_person, person_names_match
from reconcile.normalize.npi import clean_npi, is_valid_npi, npi_check_digit
from reconcile.normalize.phone import FoundPhone, find_phones, normalize_phone, phone_key
from reconcile.normalize.specialty import Specialty, lookup_specialty, specialty_by_code

__all__ = [
    "CANONICAL", "normalize_accepting", "takes_new_patients",
    "Address", "addresses_match", "normalize_address", "normalize_state", "normalize_zip5", "parse_address",
    "InsurerMatcher", "normalize_insurer_name",
    "PersonName", "first_names_match", "fold_name", "name_key", "parse_person", "person_names_match",
    "clean_npi", "is_valid_npi", "npi_check_digit",
    "FoundPhone", "find_phones", "normalize_phone", "phone_key",
    "Specialty", "lookup_specialty", "specialty_by_code",
]
