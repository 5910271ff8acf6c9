from django.urls import path

from .views import mypage, signin

app_name = "accounts"

urlpatterns = [
    path("signin/", signin.signin, name="signin"),
    path("signin/code/", signin.signin_code, name="signin_code"),
    path("mypage/", mypage.mypage, name="mypage"),
    path("signout/", mypage.signout, name="signout"),
]
