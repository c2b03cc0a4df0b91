"""Imports in French (issue 19) and the record's language in CSV files.

The import job writes its per-line errors in the language of the person who started it (the run
speaks it: saas.i18n.speaking), so a French user reads French errors on the page and in the
download; a reason the tick stores (interrupted) is English and translated when shown. The
`language` column maps by its name (language, langue, locale, lang) and takes a code (fr, FR,
fr-CA) or a name in English or French (French, français); anything else is a line error."""

from sqlalchemy import update

from saas.auth.models import User
from saas.extensions import db
from saas.imports.models import ImportJob
from saas.imports.services import INTERRUPTED
from saas.tenancy import tenant_context
from tests.imports.conftest import import_id_of, selected_options, upload

FR = {"Accept-Language": "fr"}
NNBSP = "\u202f"


def _speak_french(app, tenant, manager):
    with app.app_context(), tenant_context(tenant.id):
        db.session.execute(update(User).where(User.id == manager.id).values(language="fr"))
        db.session.commit()


def test_the_language_column_is_mapped_by_its_name(manager_client):
    for header in ("language", "Langue", "LOCALE", "lang"):
        response = upload(manager_client, "acme", f"First name,Last name,{header}\nAna,Lima,fr\n")
        import_id = import_id_of(response)
        page = manager_client.get(f"/acme/imports/{import_id}/mapping").get_data(as_text=True)
        assert selected_options(page)["col_2"] == "language", header


def test_languages_are_imported_from_codes_and_names(app, tenant, start_import, run_jobs, load):
    content = ("First name,Last name,Email,Language\n"
               "A,One,a@x.example,fr\n"
               "B,Two,b@x.example,FR\n"
               "C,Three,c@x.example,fr-CA\n"
               "D,Four,d@x.example,French\n"
               "E,Five,e@x.example,français\n"
               "F,Six,f@x.example,Allemand\n"
               "G,Seven,g@x.example,es_MX\n"
               "H,Eight,h@x.example,\n"
               "I,Nine,i@x.example,klingon\n")
    import_id = start_import("acme", content)
    run_jobs()
    job = load(tenant).job(import_id)
    assert (job.status, job.created_count, job.error_count) == ("completed", 8, 1)
    languages = {email: r.language for email, r in load(tenant).records().items()}
    assert languages == {"a@x.example": "fr", "b@x.example": "fr", "c@x.example": "fr",
                         "d@x.example": "fr", "e@x.example": "fr", "f@x.example": "de",
                         "g@x.example": "es", "h@x.example": None}
    assert load(tenant).errors(import_id) == [
        (10, "Language: “klingon” is not a language: use a code such as fr or en, or a name "
             "such as French.")]


def test_a_french_user_reads_the_import_in_french(app, tenant, manager, manager_client,
                                                  start_import, run_jobs, load):
    _speak_french(app, tenant, manager)
    content = ("Prénom,Nom,E-mail,Source,Langue\n"
               "Ana,Lima,ana@x.example,Salon commercial,fr\n"
               ",,bob@x,Magazine,xx\n"
               "Cleo,Diaz,cleo@x.example,Trade show,anglais,extra\n")
    response = upload(manager_client, "acme", content)
    import_id = import_id_of(response)
    page = manager_client.get(f"/acme/imports/{import_id}/mapping").get_data(as_text=True)
    assert "Choisir les colonnes" in page and "Lancer l’importation" in page
    assert "3 lignes de 5 colonnes" in page and "Ne pas importer" in page
    assert selected_options(page) == {"col_0": "first_name", "col_1": "last_name",
                                      "col_2": "email", "col_3": "lead_source",
                                      "col_4": "language"}
    assert "Choose the columns" not in page

    import_id = start_import("acme", content)
    run_jobs()
    job = load(tenant).job(import_id)
    assert (job.status, job.created_count, job.error_count) == ("completed", 1, 2)
    ana = load(tenant).records()["ana@x.example"]
    assert (ana.lead_source, ana.language) == ("Trade show", "fr")  # stored values stay English
    n = "\u00a0"
    errors = load(tenant).errors(import_id)
    assert errors[0][0] == 3
    assert errors[0][1].startswith(f"Nom{n}: Saisissez un prénom ou un nom.; E-mail{n}: "
                                   f"«{n}bob@x{n}» n’est pas une adresse e-mail valide.; ")
    assert (f"Source de prospect{n}: «{n}Magazine{n}» ne fait pas partie de ces valeurs{n}: "
            "Salon commercial, Web, Recommandation") in errors[0][1]
    assert f"Langue{n}: «{n}xx{n}» n’est pas une langue" in errors[0][1]
    assert errors[1] == (4, f"Cette ligne a 6 valeurs mais l’en-tête nomme 5 colonnes (un "
                            f"guillemet manquant ou un séparateur en trop{n}?)")

    page = manager_client.get(f"/acme/imports/{import_id}").get_data(as_text=True)
    for french in ("Importation terminée", "Enregistrements créés", "Lignes en erreur",
                   "3 lignes dans le fichier.", "2 lignes non importées à cause d’erreurs",
                   "Corrigez-les et importez de nouveau ces lignes.", "Voir vos prospects"):
        assert french in page, french
    assert "Import finished" not in page and "is not a valid email" not in page
    download = manager_client.get(f"/acme/imports/{import_id}/errors.csv").get_data(as_text=True)
    assert download.lstrip("\ufeff").splitlines()[0] == "line,message"
    assert "n’est pas une langue" in download


def test_one_error_line_reads_in_the_singular(app, tenant, manager, manager_client,
                                              start_import, run_jobs):
    _speak_french(app, tenant, manager)
    import_id = start_import("acme", "First name,Last name,Language\nAna,Lima,xx\nBo,Ek,de\n")
    run_jobs()
    page = manager_client.get(f"/acme/imports/{import_id}").get_data(as_text=True)
    assert "1 ligne non importée à cause d’erreurs" in page
    assert "Corrigez-la et importez de nouveau cette ligne." in page


def test_an_english_user_keeps_english_errors(app, tenant, manager_client, start_import,
                                              run_jobs, load):
    import_id = start_import("acme", "First name,Last name,Language\nAna,Lima,Vulcan\n")
    run_jobs()
    assert load(tenant).errors(import_id) == [(2, (
        "Language: “Vulcan” is not a language: use a code such as fr or en, or a name such as "
        "French."))]
    # The errors were written in English: a French viewer later reads them as they were written.
    page = manager_client.get(f"/acme/imports/{import_id}", headers=FR).get_data(as_text=True)
    assert "1 ligne non importée à cause d’erreurs" in page and "“Vulcan”" in page


def test_a_stored_failure_reason_is_translated_when_shown(app, tenant, manager, manager_client,
                                                          start_import, load):
    import_id = start_import("acme", "First name,Last name\nAna,Lima\n")
    with app.app_context(), tenant_context(tenant.id):
        db.session.execute(update(ImportJob).where(ImportJob.id == import_id).values(
            status="failed", failure_reason=INTERRUPTED))
        db.session.commit()
    assert load(tenant).job(import_id).failure_reason == (
        "The import was interrupted; nothing was imported. Start it again.")
    page = manager_client.get(f"/acme/imports/{import_id}", headers=FR).get_data(as_text=True)
    assert "L’importation a été interrompue\u00a0; rien n’a été importé. Relancez-la." in page
    assert "L’importation a échoué" in page and "Relancer" in page
    assert "interrupted" not in page


def test_the_imports_list_in_french(app, tenant, manager, manager_client, start_import,
                                    run_jobs):
    _speak_french(app, tenant, manager)
    rows = "".join(f"P{n},Q{n}\n" for n in range(1234))
    start_import("acme", "First name,Last name\n" + rows)
    run_jobs()
    page = manager_client.get("/acme/imports").get_data(as_text=True)
    assert "Importations" in page and "Importer un fichier CSV" in page
    assert f"1{NNBSP}234" in page and "Terminée" in page and "Prospects" in page
    assert "Finished" not in page and "1,234" not in page


def test_the_job_speaks_the_language_of_the_page_that_started_it(manager_client, run_jobs,
                                                                 tenant, load):
    """No language chosen on the profile: the browser's French is the one the errors use."""
    response = upload(manager_client, "acme", "First name,Last name,Language\nAna,Lima,xx\n")
    import_id = import_id_of(response)
    page = manager_client.get(f"/acme/imports/{import_id}/mapping", headers=FR)
    data = {**selected_options(page.get_data(as_text=True)), "duplicate_mode": "skip"}
    started = manager_client.post(f"/acme/imports/{import_id}/mapping", data=data, headers=FR)
    assert started.status_code == 302
    run_jobs()
    assert load(tenant).errors(import_id) == [(2, (
        "Langue\u00a0: «\u00a0xx\u00a0» n’est pas une langue\u00a0: utilisez un code tel que "
        "fr ou en, ou un nom tel que français."))]
