from django.urls import path

from .views import deletion, export, invitations, mypage, profile, register, signin

app_name = "accounts"

urlpatterns = [
    path("signin/", signin.signin, name="signin"),
    path("signin/code/", signin.signin_code, name="signin_code"),
    path("signin/code/status/", signin.signin_code_status, name="signin_code_status"),
    path("mypage/", mypage.mypage, name="mypage"),
    path("signout/", mypage.signout, name="signout"),
    # Operators' roster entries naming the account's number, waiting for its answer.
    path("mypage/invitations/", invitations.invitations, name="invitations"),
    # MySpaceCore profile: the registration wizard and the edit page.
    path("mypage/myspacecore/", profile.profile_edit, name="profile"),
    path("mypage/myspacecore/phone/", profile.profile_phone, name="profile_phone"),
    path("mypage/myspacecore/phone/verify/", profile.profile_phone_verify, name="profile_phone_verify"),
    path("mypage/myspacecore/email/", profile.profile_email, name="profile_email"),
    path("mypage/myspacecore/email/verify/", profile.profile_email_verify, name="profile_email_verify"),
    path("mypage/myspacecore/register/", register.register_basics, name="register"),
    path("mypage/myspacecore/register/email/", register.register_email, name="register_email"),
    path("mypage/myspacecore/register/code/", register.register_code, name="register_code"),
    path("mypage/myspacecore/register/confirm/", register.register_confirm, name="register_confirm"),
    path("mypage/myspacecore/register/done/", register.register_done, name="register_done"),
    # Deleting MySpaceCore and "download my data".
    path("mypage/myspacecore/deletion/", deletion.deletion_about, name="deletion"),
    path("mypage/myspacecore/deletion/confirm/", deletion.deletion_confirm, name="deletion_confirm"),
    path("mypage/myspacecore/deletion/done/", deletion.deletion_done, name="deletion_done"),
    path("mypage/myspacecore/data/", export.data_download, name="data_download"),
    path("mypage/myspacecore/data/view/", export.data_view, name="data_view"),
]
