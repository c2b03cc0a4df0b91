"""The front door, home, settings and the emails to users, in French (issue 19)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from saas.auth.models import Role, Tenant, User
from saas.extensions import db
from saas.messaging.models import OutboxMessage
from saas.tenancy import tenant_context
from saas.timeutil import utcnow
from saas.web import words
from tests.engine.conftest import world  # noqa: F401 - the fixture, for the home figures

FR = {"Accept-Language": "fr"}


def _text(response) -> str:
    return response.get_data(as_text=True)


def _set_tenant_language(app, tenant_id: int, language: str) -> None:
    with app.app_context():
        db.session.execute(select(Tenant).where(Tenant.id == tenant_id)).scalar_one() \
            .language = language
        db.session.commit()


def _outbox(app, tenant_id: int) -> list[OutboxMessage]:
    with app.app_context(), tenant_context(tenant_id):
        messages = db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)) \
            .scalars().all()
        db.session.expunge_all()
        return messages


def test_the_sign_in_page_in_french(client, admin):
    html = _text(client.get("/acme/login", headers=FR))
    assert '<html lang="fr">' in html
    assert "<title>Se connecter · Séquences</title>" in html
    assert "<h1>Se connecter à Acme</h1>" in html
    assert "Mot de passe oublié\u202f?" in html
    assert ">E-mail</label>" in html and ">Mot de passe</label>" in html
    assert "Sign in" not in html and "Forgot your password" not in html


def test_a_wrong_password_is_told_in_french(client, admin):
    response = client.post("/acme/login", headers=FR,
                           data={"email": admin.email, "password": "not-the-one"})
    assert "E-mail ou mot de passe incorrect." in _text(response)
    assert "Wrong email or password" not in _text(response)


def test_the_landing_and_sign_up_pages_in_french(client):
    landing = _text(client.get("/", headers=FR))
    assert "Des séquences de vente que vos vendeurs suivent vraiment" in landing
    assert "Déjà client\u202f?" in landing
    signup = _text(client.get("/signup", headers=FR))
    assert "Inscrire votre organisation" in signup
    assert "Commencez par un essai de Sales Enterprise de 30\u00a0jours." not in signup
    assert "Commencez par un essai de Sales Enterprise de 30 jours. Aucune carte bancaire " \
        "requise." in signup
    assert "Au moins 10 caractères\u202f; pas un mot de passe courant." in signup
    assert "Sign up your organization" not in signup


def test_sign_up_errors_in_french(client):
    response = client.post("/signup", headers=FR, data={
        "org_name": "Contoso", "slug": "admin", "name": "Dana", "email": "dana@contoso.example",
        "password": "tangerine-sky-77", "confirm": "tangerine-sky-88", "language": "fr"})
    html = _text(response)
    assert "Les deux mots de passe sont différents." in html


def test_home_in_french(app, make_tenant, make_user, client, login):
    tenant = make_tenant("acme", name="Acme", trial_ends_at=utcnow() + timedelta(days=20))
    admin = make_user(tenant, roles=[Role.SYSTEM_ADMINISTRATOR], name="Ada Admin")
    login(client, admin)
    html = _text(client.get("/acme/", headers=FR))
    assert "<h1>Ravi de vous revoir, Ada</h1>" in html
    assert "Essai Sales Enterprise\u00a0: se termine le" in html
    assert "Gérer la licence" in html
    assert "Utilisateurs et rôles" in html and "Invitez des vendeurs et des responsables de " \
        "séquence." in html
    assert "Publié pour les prospects." in html
    # The main menu and the user menu.
    assert ">Accueil</a>" in html and ">Paramètres</a>" in html and ">Prospects</a>" in html
    assert "Profil\u00a0: UTC · disponible" in html
    assert ">Se déconnecter</button>" in html
    assert "Good to see you" not in html and "Sign out" not in html and "Settings<" not in html


def test_the_users_page_in_french(admin_client, admin, make_user):
    make_user(admin.tenant, roles=[Role.SELLER, Role.SEQUENCE_MANAGER], name="Sam Seller")
    make_user(admin.tenant, roles=[Role.SELLER], name="Ivy Invited", status="invited")
    html = _text(admin_client.get("/acme/settings/users", headers=FR))
    assert "<h1>Utilisateurs et rôles</h1>" in html
    assert ">Inviter un utilisateur</a>" in html
    assert "<th>Nom</th><th>E-mail</th><th>Rôles</th><th>Statut</th>" in html
    assert "Administrateur système" in html
    assert "Responsable de séquence, Vendeur" in html
    assert '<span class="badge badge-active">Actif</span>' in html
    assert '<span class="badge badge-invited">Invité</span>' in html
    assert "(vous)" in html and ">Modifier</a>" in html
    assert ">Journal d’audit</a>" in html and ">Boîte d’envoi</a>" in html
    assert "Users and roles" not in html and "Invite a user" not in html
    assert "System administrator" not in html


def test_an_invitation_is_written_in_french_for_a_french_workspace(app, admin_client, admin):
    _set_tenant_language(app, admin.tenant.id, "fr")
    # The administrator reads English; the invited user gets the workspace's language.
    response = admin_client.post("/acme/settings/users/invite", headers={"Accept-Language": "en"},
                                 data={"name": "Yves", "email": "yves@acme.example",
                                       "roles": ["seller"]})
    assert response.status_code == 302
    page = _text(admin_client.get("/acme/settings/users", headers={"Accept-Language": "en"}))
    assert "The invitation to yves@acme.example waits in the <a href=\"/acme/settings/outbox\">" \
        "Outbox</a>" in page  # no provider configured
    [mail] = _outbox(app, admin.tenant.id)
    assert mail.subject == "Ada Admin vous invite à rejoindre Acme"
    assert mail.text_body.startswith("Bonjour Yves,\n\n")
    assert "Ada Admin vous invite à rejoindre Acme sur Séquences en tant que Vendeur." \
        in mail.text_body
    assert "(le lien ne fonctionne qu’une fois et pendant 7\u00a0jours)" not in mail.text_body
    assert "Choisissez votre mot de passe ici (le lien ne fonctionne qu’une fois et pendant " \
        in mail.text_body
    assert "/acme/invitation/" in mail.text_body
    assert "invited you" not in mail.text_body and "Hello" not in mail.text_body


def test_an_invitation_is_in_english_for_an_english_workspace(app, admin_client, admin):
    admin_client.post("/acme/settings/users/invite", headers=FR,
                      data={"name": "Yves", "email": "yves@acme.example", "roles": ["seller"]})
    [mail] = _outbox(app, admin.tenant.id)
    assert mail.subject == "Ada Admin invited you to Acme"
    assert "as Seller." in mail.text_body


def test_a_password_reset_speaks_the_users_own_language(app, client, admin, make_user):
    user = make_user(admin.tenant, roles=[Role.SELLER], name="Frida", email="frida@acme.example")
    with app.app_context(), tenant_context(admin.tenant.id):
        db.session.execute(select(User).where(User.id == user.id)).scalar_one().language = "fr"
        db.session.commit()
    client.post("/acme/forgot-password", data={"email": "frida@acme.example"})
    client.post("/acme/forgot-password", data={"email": admin.email})
    frida, ada = _outbox(app, admin.tenant.id)
    assert frida.subject == "Réinitialisez votre mot de passe pour Acme"
    assert "Bonjour Frida," in frida.text_body
    assert "votre mot de passe reste inchangé." in frida.text_body
    assert ada.subject == "Reset your password for Acme"  # no choice, English workspace


def test_invite_errors_and_flashes_in_french(admin_client, admin):
    html = _text(admin_client.post("/acme/settings/users/invite", headers=FR,
                                   data={"name": "Ada", "email": admin.email,
                                         "roles": ["seller"]}))
    assert f"{admin.email} est déjà utilisateur de cette organisation." in html
    html = _text(admin_client.post("/acme/settings/users/invite", headers=FR,
                                   data={"name": "Bob", "email": "bob@acme.example"}))
    assert "Choisissez au moins un rôle." in html


def test_the_gate_in_french(app, make_tenant, make_user, client, login):
    tenant = make_tenant("acme", name="Acme", workspace=False)
    seller = make_user(tenant, roles=[Role.SELLER])
    make_user(tenant, roles=[Role.SYSTEM_ADMINISTRATOR], name="Ada Admin")
    login(client, seller)
    response = client.get("/acme/sequences/", headers=FR)
    html = _text(response)
    assert response.status_code == 403
    assert "Cette page ne vous est pas encore accessible" in html
    assert "Le rôle Responsable de séquence." in html
    assert "Vous êtes Vendeur." in html
    assert "L’espace de travail de l’accélérateur de ventes n’est pas encore configuré pour " \
        "Acme." in html
    assert "Un administrateur système de Acme\u00a0:" in html


def test_error_pages_in_french(admin_client):
    html = _text(admin_client.get("/acme/settings/users/999999", headers=FR))
    assert "<h1>Page introuvable</h1>" in html and "Page not found" not in html


def test_record_counts_in_french(app):
    with app.test_request_context(headers=FR):
        assert words.records(1) == "1 enregistrement"
        assert words.records(2) == "2 enregistrements"
        assert words.records(1234) == "1\u202f234 enregistrements"
    with app.test_request_context():
        assert words.records(1) == "one record"
        assert words.records(1234) == "1,234 records"


def test_password_rules_in_french(app):
    from saas.auth.passwords import password_problem

    with app.test_request_context(headers=FR):
        assert password_problem("short") == "Utilisez au moins 10 caractères."
        assert password_problem("aaaaaaaaaaaaaaaa") == (
            "Ce mot de passe répète les mêmes caractères\u202f; choisissez-en un plus difficile "
            "à deviner.")


def test_the_audit_log_and_workspace_in_french(app, admin_client, admin):
    admin_client.post("/acme/settings/users/invite", headers=FR,
                      data={"name": "Sam", "email": "sam@acme.example", "roles": ["seller"]})
    admin_client.post("/acme/settings/workspace/language", data={"language": "fr"})
    html = _text(admin_client.get("/acme/settings/audit", headers=FR))
    assert "<h1>Journal d’audit</h1>" in html
    assert "<th>Date</th><th>Auteur</th><th>Action</th><th>Cible</th><th>Détails</th>" in html
    assert 'Utilisateur invité <code class="small muted">user.invited</code>' in html
    assert "Langue de l’espace de travail modifiée" in html
    english = _text(admin_client.get("/acme/settings/audit", headers={"Accept-Language": "en"}))
    assert 'User invited <code class="small muted">user.invited</code>' in english
    html = _text(admin_client.get("/acme/settings/workspace", headers=FR))
    assert "<h1>Espace de travail de l’accélérateur de ventes</h1>" in html
    assert "Publié le" in html and "pour les prospects." in html
    assert ">Enregistrer la langue</button>" in html


def test_flashes_of_the_front_door_in_french(client, admin):
    page = client.get("/acme/", headers=FR, follow_redirects=True)
    assert "Connectez-vous pour continuer." in _text(page)
    client.post("/acme/login", data={"email": admin.email, "password": admin.password})
    page = client.post("/acme/logout", headers=FR, follow_redirects=True)
    assert "Vous êtes déconnecté." in _text(page)
    page = client.post("/acme/forgot-password", headers=FR, follow_redirects=True,
                       data={"email": "nobody@acme.example"})
    assert "Si cette adresse e-mail correspond à un compte ici, un lien de réinitialisation " \
        "est en route." in _text(page)


def test_a_french_sign_up_is_welcomed_in_french(client):
    page = client.post("/signup", headers=FR, follow_redirects=True, data={
        "org_name": "Café Contoso", "slug": "cafe", "name": "Denise Martin",
        "email": "denise@cafe.example", "password": "tangerine-sky-77",
        "confirm": "tangerine-sky-77", "language": "fr"})
    html = _text(page)
    assert "Bienvenue\u202f! Votre organisation bénéficie d’un essai de Sales Enterprise de " \
        "30 jours." in html
    assert "<h1>Ravi de vous revoir, Denise</h1>" in html


def test_home_figures_in_french_one_and_many(world, login, client, add_records):  # noqa: F811
    """The home cards' counts: French plurals (1 vs 2) and numbers in the French way."""
    from saas.engine.connect import connect_many
    from tests.engine.factories import build_sequence
    from tests.engine.test_advance import TASK

    def card(html: str, name: str) -> str:
        block = html.split(f'id="home-{name}">')[1].split("</a>")[0]
        return " ".join(re.sub(r"<[^>]+>", " ", block).split())

    owned = world.add(3)
    unowned = add_records(world.tenant, 2, owner_id=None,
                          email=lambda i: f"nobody{i}@example.com")
    mine = add_records(world.tenant, 1, owner_id=world.manager.id, email="mine@example.com")
    with world.inside():
        seq = build_sequence([TASK], name="Suivi du salon commercial")
        connect_many(owned + unowned + mine, seq.lineage_id)
        db.session.commit()
    login(client, world.manager)
    html = _text(client.get("/acme/", headers=FR))
    assert card(html, "worklist") == ("Ma liste de travail 1 à faire aujourd’hui "
                                      "1 activité ouverte en tout.")
    assert "1 active · 6 enregistrements en cours" in card(html, "sequences")
    waiting = card(html, "waiting")
    assert "2 connexions attendent un vendeur." in waiting
    assert "La plupart dans « Suivi du salon commercial » : attribuez-les là-bas." in waiting
    assert "records" not in html.split('class="cards"')[1]


def test_big_counts_on_home_are_grouped_the_french_way(app):
    from flask import render_template_string

    with app.test_request_context(headers=FR):
        out = render_template_string(
            "{{ ngettext('%(count)s connection waits for a seller.', "
            "'%(count)s connections wait for a seller.', n, count=n|number) }}", n=1234)
    assert out == "1\u202f234 connexions attendent un vendeur."
