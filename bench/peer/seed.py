"""Known users of the peer: `python -m bench.peer.seed FIRST COUNT` (peer venv, peer settings).

user<N>@peer.example for N in FIRST … FIRST+COUNT-1, active, no usable password, with a
verified primary EmailAddress: the user allauth's login by code finds by e-mail.
"""

import sys

import django


def main() -> None:
    django.setup()
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    first, count = int(sys.argv[1]), int(sys.argv[2])
    user_model = get_user_model()
    users = user_model.objects.bulk_create(
        user_model(username=f"user{n}", email=f"user{n}@peer.example", password=make_password(None))
        for n in range(first, first + count)
    )
    EmailAddress.objects.bulk_create(
        EmailAddress(user=user, email=user.email, verified=True, primary=True) for user in users
    )


if __name__ == "__main__":
    main()
